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
/// <para>
/// An event whose outcome is known only later (a login attempt: it counts only if it fails) can reserve its slot first
/// (<see cref="TryReserve"/>): a key refuses when its events plus its reservations would pass the limit, so attempts in
/// flight at the same moment cannot all pass a check that none of them has counted in yet. A reservation is then either
/// counted (<see cref="Reservation.Count"/>) or given back (<see cref="Reservation.Release"/>). It belongs to the counter
/// it was taken on and keeps its slot when the key's window or lock-out ends; its event counts once, in the window
/// current when it is counted. A key with a reservation outstanding is never dropped from the table. Past a full table a
/// reservation is never refused and holds nothing (the overflow budget never locks out); its event still counts there.
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
        var lease = Acquire(key, permitCount, now, out _);
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
        var acquired = Acquire(key, permitCount, now, out lockedOut).IsAcquired;
        Interlocked.Increment(ref acquired ? ref _successful : ref _failed);
        return acquired;
    }

    private RateLimitLease Acquire(TKey key, int permitCount, long now, out bool lockedOut)
    {
        while (true)
        {
            lockedOut = false;
            if (CounterFor(key, now, add: permitCount > 0) is not { } counter)
            {
                return WindowLease.Acquired;
            }
            // Null when a sweep dropped the counter meanwhile: the key's next counter is asked instead.
            if (counter.Acquire(permitCount, now, this, out lockedOut) is { } lease)
            {
                return lease;
            }
        }
    }

    /// <summary>
    /// Reserves one event of the resource's key for an attempt whose outcome is not known yet: false (and no
    /// reservation) when the key's events and reservations leave no room, or it is locked out. A resource that is not
    /// limited gets a reservation that holds nothing. The caller must <see cref="Reservation.Count"/> or
    /// <see cref="Reservation.Release"/> it.
    /// </summary>
    public bool TryReserve(TResource resource, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out Reservation? reservation)
    {
        if (_limit is null || !_keyOf(resource, out var key))
        {
            reservation = new Reservation(this, null, default);
            return true;
        }
        var now = _time.GetTimestamp();
        while (true)
        {
            var counter = CounterFor(key, now, add: true)!;
            if (counter == _overflow)
            {
                // Past a full table: never refused, nothing held; the event counts in the overflow budget.
                reservation = new Reservation(this, _overflow, key, held: false);
                Interlocked.Increment(ref _successful);
                return true;
            }
            if (counter.Reserve(now, this) is { } reserved)
            {
                Interlocked.Increment(ref reserved ? ref _successful : ref _failed);
                reservation = reserved ? new Reservation(this, counter, key, held: true) : null;
                return reserved;
            }
        }
    }

    /// <summary>Whether two resources have the same key (both limited).</summary>
    public bool SameKey(TResource a, TResource b) =>
        _keyOf(a, out var first) && _keyOf(b, out var second) && _counters.Comparer.Equals(first, second);

    /// <summary>
    /// One event reserved by <see cref="TryReserve"/>, either counted or given back, once; later calls do nothing, so
    /// giving it back when the attempt ends (<see cref="IDisposable.Dispose"/>) after counting it is safe.
    /// </summary>
    public sealed class Reservation : IDisposable
    {
        private readonly WindowPartitionedRateLimiter<TResource, TKey> _owner;
        private readonly Counter? _counter;
        private readonly bool _held;
        private int _done;

        internal Reservation(WindowPartitionedRateLimiter<TResource, TKey> owner, Counter? counter, TKey? key, bool held = false)
        {
            _owner = owner;
            _counter = counter;
            _held = held;
            Key = key;
        }

        /// <summary>The key reserved; default when the resource is not limited.</summary>
        public TKey? Key { get; }

        /// <summary>Counts the event (the attempt failed); true when it started a lock-out.</summary>
        public bool Count()
        {
            if (Interlocked.Exchange(ref _done, 1) != 0 || _counter is null)
            {
                return false;
            }
            var now = _owner._time.GetTimestamp();
            if (!_held)
            {
                _counter.Acquire(1, now, _owner, out var lockedOut);
                return lockedOut;
            }
            return _counter.Complete(counted: true, now, _owner);
        }

        /// <summary>Gives the slot back without counting (the attempt succeeded or was abandoned).</summary>
        public void Release()
        {
            if (Interlocked.Exchange(ref _done, 1) != 0 || _counter is null || !_held)
            {
                return;
            }
            _counter.Complete(counted: false, _owner._time.GetTimestamp(), _owner);
        }

        /// <summary>As <see cref="Release"/>.</summary>
        public void Dispose() => Release();
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
                if (entry.Value.TryRetire(now, this) && _counters.TryRemove(entry))
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

    // One key's window: the events counted in it and the reservations outstanding (which a window's end leaves alone).
    // A sweep retires a counter (under its lock) before dropping it, and a counter once retired takes nothing more: its
    // caller asks the table again, so no event or reservation is lost on a dropped counter.
    internal sealed class Counter(bool canLockOut = true)
    {
        private long _start;
        private int _used;
        private int _pending;
        private long _lockedUntil;
        private bool _started;
        private bool _retired;

        // Null when retired.
        public RateLimitLease? Acquire(int permitCount, long now, WindowPartitionedRateLimiter<TResource, TKey> owner, out bool lockedOut)
        {
            lockedOut = false;
            var limit = owner._limit!.PermitLimit;
            lock (this)
            {
                if (_retired)
                {
                    return null;
                }
                Refresh(now, owner);
                if (_lockedUntil != 0)
                {
                    return WindowLease.Failed(_lockedUntil - now, owner._time.TimestampFrequency);
                }
                if (_used + _pending + Math.Max(permitCount, 1) > limit)
                {
                    return WindowLease.Failed(_started ? _start + owner._window - now : 0, owner._time.TimestampFrequency);
                }
                if (permitCount == 0)
                {
                    return WindowLease.Acquired;
                }
                lockedOut = Add(permitCount, now, owner);
                return WindowLease.Acquired;
            }
        }

        // Null when retired, else whether a slot was reserved.
        public bool? Reserve(long now, WindowPartitionedRateLimiter<TResource, TKey> owner)
        {
            lock (this)
            {
                if (_retired)
                {
                    return null;
                }
                Refresh(now, owner);
                if (_lockedUntil != 0 || _used + _pending + 1 > owner._limit!.PermitLimit)
                {
                    return false;
                }
                _pending++;
                return true;
            }
        }

        // Ends a reservation: counted as an event of the window current now, or given back. Whether it started a lock-out.
        public bool Complete(bool counted, long now, WindowPartitionedRateLimiter<TResource, TKey> owner)
        {
            lock (this)
            {
                _pending--;
                if (!counted)
                {
                    return false;
                }
                Refresh(now, owner);
                return Add(1, now, owner);
            }
        }

        // Counts events (under the lock); whether they started a lock-out. Already locked out, they only count.
        private bool Add(int permitCount, long now, WindowPartitionedRateLimiter<TResource, TKey> owner)
        {
            if (!_started)
            {
                _started = true;
                _start = now;
            }
            _used += permitCount;
            if (_used >= owner._limit!.PermitLimit && owner._lockout > 0 && canLockOut && _lockedUntil == 0)
            {
                _lockedUntil = now + owner._lockout;
                return true;
            }
            return false;
        }

        public int Available(long now, WindowPartitionedRateLimiter<TResource, TKey> owner)
        {
            lock (this)
            {
                Refresh(now, owner);
                return _lockedUntil != 0 ? 0 : Math.Max(owner._limit!.PermitLimit - _used - _pending, 0);
            }
        }

        // Retires the counter when its window has ended and no reservation is outstanding.
        public bool TryRetire(long now, WindowPartitionedRateLimiter<TResource, TKey> owner)
        {
            lock (this)
            {
                Refresh(now, owner);
                _retired = !_started && _pending == 0;
                return _retired;
            }
        }

        // A lock-out that has passed, or a window that has ended, leaves the key as if new (but for reservations outstanding).
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
