using System.Collections.Concurrent;
using System.Threading.RateLimiting;

namespace Mail.Protocols.RateLimits;

/// <summary>
/// A <see cref="PartitionedRateLimiter{TResource}"/> of one <see cref="RateLimit"/>: a fixed window per key from the key's
/// first event, with an optional lock-out once the key reaches the limit. It is written here rather than made with
/// <see cref="PartitionedRateLimiter.Create{TResource, TPartitionKey}"/> over the library's window limiters for three
/// reasons: those limiters read <c>Stopwatch</c>, so their windows cannot follow a <see cref="TimeProvider"/> (and tests
/// could not move a fake clock past them); the partitioned limiter of <c>Create</c> walks every partition under one lock
/// on a 100 ms timer of its own that must be disposed; and it has no bound on the partitions an attack can create. Here
/// the clock is a <see cref="TimeProvider"/>, there is no timer (ended windows are dropped when the table fills and once
/// per window, on the caller's thread), and the table holds at most <c>maxKeys</c> keys, new keys past it sharing one
/// overflow budget. Nothing queues: a refused acquisition fails at once, with its retry-after as lease metadata.
/// <para>
/// A query (0 permits) never adds a key: a key with no events has nothing to refuse. And the overflow budget counts but
/// never locks out, because every key past the table shares it: an attacker who filled the table with failed logins
/// from many addresses or under many names would otherwise lock out everyone not yet in it. Past the table, a lock-out
/// limit therefore holds only the keys it already tracks (docs/security.md).
/// </para>
/// </summary>
internal sealed class WindowPartitionedRateLimiter<TResource, TKey> : PartitionedRateLimiter<TResource> where TKey : notnull
{
    /// <summary>Gives the key of a resource, or false when the resource is not limited (exempt).</summary>
    public delegate bool KeySelector(TResource resource, out TKey key);

    private readonly KeySelector _keyOf;
    private readonly RateLimit? _limit;
    private readonly TimeProvider _time;
    private readonly long _window;
    private readonly long _lockout;
    private readonly long _sweepInterval;
    private readonly int _maxKeys;
    private readonly ConcurrentDictionary<TKey, Counter> _counters;
    private readonly Counter _overflow = new(canLockOut: false);
    private int _count;
    private int _sweeping;
    private long _lastSweep;
    private long _successful;
    private long _failed;

    /// <summary>Creates the limiter; a null <paramref name="limit"/> allows everything.</summary>
    public WindowPartitionedRateLimiter(RateLimit? limit, KeySelector keyOf, IEqualityComparer<TKey>? comparer, int maxKeys, TimeProvider time)
    {
        _limit = limit;
        _keyOf = keyOf;
        _time = time;
        _maxKeys = maxKeys;
        _counters = new ConcurrentDictionary<TKey, Counter>(comparer);
        if (limit is not null)
        {
            _window = Ticks(limit.Window);
            _lockout = limit.LockoutDuration is { } lockout ? Ticks(lockout) : 0;
            _sweepInterval = Math.Max(_window, _lockout);
        }
        _lastSweep = time.GetTimestamp();
    }

    /// <summary>The limit, or null when everything is allowed.</summary>
    public RateLimit? Limit => _limit;

    /// <summary>How many keys the table holds now (the overflow budget not counted).</summary>
    public int TrackedKeys => Volatile.Read(ref _count);

    private long Ticks(TimeSpan span) => (long)(span.TotalSeconds * _time.TimestampFrequency);

    /// <inheritdoc />
    public override RateLimiterStatistics? GetStatistics(TResource resource)
    {
        var available = _limit?.PermitLimit ?? int.MaxValue;
        if (_limit is not null && _keyOf(resource, out var key) && _counters.TryGetValue(key, out var counter))
        {
            available = counter.Available(_time.GetTimestamp(), this);
        }
        return new RateLimiterStatistics
        {
            CurrentAvailablePermits = available,
            CurrentQueuedCount = 0,
            TotalSuccessfulLeases = Interlocked.Read(ref _successful),
            TotalFailedLeases = Interlocked.Read(ref _failed),
        };
    }

    /// <summary>
    /// Counts <paramref name="permitCount"/> events of the resource's key, or (with 0) asks whether one more would be
    /// allowed without counting it. A failed lease carries <see cref="MetadataName.RetryAfter"/>.
    /// </summary>
    protected override RateLimitLease AttemptAcquireCore(TResource resource, int permitCount)
    {
        if (_limit is null || !_keyOf(resource, out var key))
        {
            return WindowLease.Acquired;
        }
        CheckPermitCount(permitCount);
        var now = _time.GetTimestamp();
        var lease = CounterFor(key, now, add: permitCount > 0) is { } counter
            ? counter.Acquire(permitCount, now, this, out _)
            : WindowLease.Acquired;
        Interlocked.Increment(ref lease.IsAcquired ? ref _successful : ref _failed);
        return lease;
    }

    /// <summary>As <see cref="PartitionedRateLimiter{TResource}.AttemptAcquire"/>, also saying whether this event started a lock-out.</summary>
    public bool TryAcquire(TResource resource, int permitCount, out bool lockedOut)
    {
        lockedOut = false;
        if (_limit is null || !_keyOf(resource, out var key))
        {
            return true;
        }
        CheckPermitCount(permitCount);
        var now = _time.GetTimestamp();
        var acquired = CounterFor(key, now, add: permitCount > 0) is not { } counter
            || counter.Acquire(permitCount, now, this, out lockedOut).IsAcquired;
        Interlocked.Increment(ref acquired ? ref _successful : ref _failed);
        return acquired;
    }

    /// <inheritdoc />
    protected override ValueTask<RateLimitLease> AcquireAsyncCore(TResource resource, int permitCount, CancellationToken cancellationToken) =>
        ValueTask.FromResult(AttemptAcquireCore(resource, permitCount));

    // As the PartitionedRateLimiter contract asks; it also keeps a count from overflowing the counter's int.
    private void CheckPermitCount(int permitCount)
    {
        if (permitCount < 0 || permitCount > _limit!.PermitLimit)
        {
            throw new ArgumentOutOfRangeException(nameof(permitCount), permitCount, $"Must be from 0 to the permit limit, {_limit!.PermitLimit}.");
        }
    }

    // The key's counter; for a key not in the table, a new one when add is true (the shared overflow counter once the
    // table is full), else null.
    private Counter? CounterFor(TKey key, long now, bool add)
    {
        while (true)
        {
            if (_counters.TryGetValue(key, out var counter))
            {
                return counter;
            }
            if (!add)
            {
                return null;
            }
            // Ended windows go once per window, and whenever the table is full (at most once per second then, so that a
            // flood of new keys against a table of live ones does not walk it for each).
            var full = Volatile.Read(ref _count) >= _maxKeys;
            var sinceSweep = now - Volatile.Read(ref _lastSweep);
            if (sinceSweep >= _sweepInterval || (full && sinceSweep >= _time.TimestampFrequency))
            {
                Sweep(now);
                full = Volatile.Read(ref _count) >= _maxKeys;
            }
            if (full)
            {
                return _overflow;
            }
            var fresh = new Counter();
            if (_counters.TryAdd(key, fresh))
            {
                Interlocked.Increment(ref _count);
                return fresh;
            }
        }
    }

    private void Sweep(long now)
    {
        if (Interlocked.Exchange(ref _sweeping, 1) != 0)
        {
            return;
        }
        try
        {
            Volatile.Write(ref _lastSweep, now);
            foreach (var entry in _counters)
            {
                if (entry.Value.HasEnded(now, this) && _counters.TryRemove(entry))
                {
                    Interlocked.Decrement(ref _count);
                }
            }
        }
        finally
        {
            Volatile.Write(ref _sweeping, 0);
        }
    }

    // One key's window. A counter dropped by a sweep while another thread uses it loses at most that thread's event.
    private sealed class Counter(bool canLockOut = true)
    {
        private long _start;
        private int _used;
        private long _lockedUntil;
        private bool _started;

        public RateLimitLease Acquire(int permitCount, long now, WindowPartitionedRateLimiter<TResource, TKey> owner, out bool lockedOut)
        {
            lockedOut = false;
            var limit = owner._limit!.PermitLimit;
            lock (this)
            {
                Refresh(now, owner);
                if (_lockedUntil != 0)
                {
                    return WindowLease.Failed(_lockedUntil - now, owner._time.TimestampFrequency);
                }
                if (_used + Math.Max(permitCount, 1) > limit)
                {
                    return WindowLease.Failed(_start + owner._window - now, owner._time.TimestampFrequency);
                }
                if (permitCount == 0)
                {
                    return WindowLease.Acquired;
                }
                if (!_started)
                {
                    _started = true;
                    _start = now;
                }
                _used += permitCount;
                if (_used >= limit && owner._lockout > 0 && canLockOut)
                {
                    _lockedUntil = now + owner._lockout;
                    lockedOut = true;
                }
                return WindowLease.Acquired;
            }
        }

        public int Available(long now, WindowPartitionedRateLimiter<TResource, TKey> owner)
        {
            lock (this)
            {
                Refresh(now, owner);
                return _lockedUntil != 0 ? 0 : owner._limit!.PermitLimit - _used;
            }
        }

        public bool HasEnded(long now, WindowPartitionedRateLimiter<TResource, TKey> owner)
        {
            lock (this)
            {
                Refresh(now, owner);
                return !_started;
            }
        }

        // A lock-out that has passed, or a window that has ended, leaves the key as if new.
        private void Refresh(long now, WindowPartitionedRateLimiter<TResource, TKey> owner)
        {
            if (_lockedUntil != 0 ? now >= _lockedUntil : _started && now - _start >= owner._window)
            {
                _lockedUntil = 0;
                _used = 0;
                _started = false;
            }
        }
    }

    private sealed class WindowLease : RateLimitLease
    {
        private static readonly string[] s_metadataNames = [MetadataName.RetryAfter.Name];
        private readonly TimeSpan? _retryAfter;

        private WindowLease(bool acquired, TimeSpan? retryAfter)
        {
            IsAcquired = acquired;
            _retryAfter = retryAfter;
        }

        public static RateLimitLease Acquired { get; } = new WindowLease(true, null);

        public static WindowLease Failed(long ticks, long frequency) =>
            new WindowLease(false, TimeSpan.FromSeconds(Math.Max(ticks, 0) / (double)frequency));

        public override bool IsAcquired { get; }

        public override IEnumerable<string> MetadataNames => _retryAfter is null ? [] : s_metadataNames;

        public override bool TryGetMetadata(string metadataName, out object? metadata)
        {
            if (_retryAfter is { } retryAfter && metadataName == MetadataName.RetryAfter.Name)
            {
                metadata = retryAfter;
                return true;
            }
            metadata = null;
            return false;
        }
    }
}
